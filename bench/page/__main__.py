from bench.page.run import main

raise SystemExit(main())
