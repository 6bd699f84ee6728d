from services.awards.office.entrypoints.cli import main

if __name__ == "__main__":
    main()
