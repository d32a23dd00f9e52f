package etl

// SetMaxOutliers changes how many photo rows the merge sets aside before it
// gives up, and returns a function that restores it.
func SetMaxOutliers(n int) (restore func()) {
	old := maxOutliers
	maxOutliers = n
	return func() { maxOutliers = old }
}
