package schema

import _ "embed"

// The ETL's DDL: staging tables, their indexes and the switch-over that
// replaces the served tables in one transaction. Not migrations: the ETL runs
// them inside its load transaction.
var (
	//go:embed etl/stage.sql
	ETLStage string
	//go:embed etl/index.sql
	ETLIndex string
	//go:embed etl/switch.sql
	ETLSwitch string
)
