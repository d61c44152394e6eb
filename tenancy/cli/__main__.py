"""`python -m tenancy.cli`: the same as the `salestalk` script."""

import sys

from tenancy.cli.app import main

sys.exit(main())
