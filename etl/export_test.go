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
