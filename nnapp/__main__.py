from nnapp.cli.app import main

main()
