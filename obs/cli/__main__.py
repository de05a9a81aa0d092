from obs.cli import main

main()
