from PRIMELib.cli import main

raise SystemExit(main())
