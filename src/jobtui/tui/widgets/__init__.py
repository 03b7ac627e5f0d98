"""One widget per module: the job list, the job detail and the log pane."""
