from bench.backtest.run import main

raise SystemExit(main())
