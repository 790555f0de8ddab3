"""Frames: numpy checks and derivations of per-frame inputs, nuisance and windows."""
