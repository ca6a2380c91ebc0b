"""One module per job: a pure ``build(...)`` over typed streams and a thin ``main()``."""
