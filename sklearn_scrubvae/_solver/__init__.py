"""The solver: torch and skorch code that builds, trains and runs the network."""
