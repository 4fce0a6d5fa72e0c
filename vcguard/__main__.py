from vcguard.cli import main

raise SystemExit(main())
