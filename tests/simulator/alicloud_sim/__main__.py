"""``python -m alicloud_sim`` works like the ``alicloud-sim`` console script."""

import sys

from .cli import main

sys.exit(main())
