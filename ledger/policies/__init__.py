"""Business rules as data and small objects: markets, cancellation windows, credits, access."""
