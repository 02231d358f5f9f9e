from nnapp.cli.launcher import main

main()
