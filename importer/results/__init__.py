"""Results: write the annotated results file and read it back for retry; decides no status."""
