"""One module per subcommand: each has NAME, HELP, DESCRIPTION, add_arguments(parser) and run(args)."""
