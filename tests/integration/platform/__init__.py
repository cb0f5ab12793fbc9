"""shared/platform against the simulators."""
