"""signal-job: turn OHLCV candles into an exact trading-signal rate."""

__version__ = "0.1.0"
