"""`python -m worker`: see worker/__init__.py."""

from worker import main

raise SystemExit(main())
