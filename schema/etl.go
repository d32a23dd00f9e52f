package schema

import (
	"embed"
	"strings"
)

// The ETL's DDL (etl/*.sql): per loaded table, its staging table and the
// indexes built after the bulk load; the drop of leftover staging tables;
// and the switch-over that replaces the served tables in one transaction.
// Not migrations: the ETL runs them around each load.

//go:embed etl/*.sql
var etlFiles embed.FS

func etlFile(name string) string {
	b, err := etlFiles.ReadFile("etl/" + name + ".sql")
	if err != nil {
		panic("schema: no ETL file " + name) // the names are constants of the etl package
	}
	return string(b)
}

// ETLStaging returns the statements that create table's staging table and
// those that build its indexes.
func ETLStaging(table string) (create, indexes string) {
	create, indexes, ok := strings.Cut(etlFile(table), "\n-- indexes\n")
	if !ok {
		panic("schema: etl/" + table + ".sql lacks its -- indexes line")
	}
	return create, indexes
}

// ETLDropStaging drops staging tables left behind by an interrupted load.
func ETLDropStaging() string { return etlFile("drop") }

// ETLSwitch replaces the served tables with the staging tables.
func ETLSwitch() string { return etlFile("switch") }

// ETLCountStatements counts the statements of a schema/etl file's part (as
// ETLStaging returns them): each begins a line with CREATE or ALTER.
func ETLCountStatements(sql string) int {
	n := 0
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "CREATE ") || strings.HasPrefix(line, "ALTER ") {
			n++
		}
	}
	return n
}
