package etl

// SetMaxOutliers changes how many photo rows the merge sets aside before it
// gives up, and returns a function that restores it.
func SetMaxOutliers(n int) (restore func()) {
	old := maxOutliers
	maxOutliers = n
	return func() { maxOutliers = old }
}

// SetFeedBatchSize changes how many kept reviews the reviews pass sends the
// characteristic values pass at a time, and returns a function that
// restores it.
func SetFeedBatchSize(n int) (restore func()) {
	old := feedBatchSize
	feedBatchSize = n
	return func() { feedBatchSize = old }
}

// SetSwitchWaited sets a function called after each switch-over attempt
// that found a served table locked, and returns a function that restores
// the previous one.
func SetSwitchWaited(f func(attempt int)) (restore func()) {
	old := switchWaited
	switchWaited = f
	return func() { switchWaited = old }
}

// SetPreCarried sets a function called between the carry-over before the
// switch and the switch-over, and returns a function that restores the
// previous one.
func SetPreCarried(f func()) (restore func()) {
	old := preCarried
	preCarried = f
	return func() { preCarried = old }
}
