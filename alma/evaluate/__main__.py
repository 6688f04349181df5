"""`python -m alma.evaluate ...`: the `alma-eval` command."""
import sys

from .cli import main

sys.exit(main())
