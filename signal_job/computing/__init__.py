"""Computing the signals: expressions, the plan over the rows, time order, running it."""
