import sys

print("something went wrong", file=sys.stderr)
sys.exit(3)
