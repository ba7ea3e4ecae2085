"""Reading the input: which files, how each is spelled, its rows, times and malformed lines."""
