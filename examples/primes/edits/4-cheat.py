"""Edit the protected benchmark instead of the code: must never be kept."""
print("wall_time: 0.000001")
