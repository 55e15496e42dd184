"""The stress suite: a step ramp until an objective breaks; the breaking point is recorded."""
