"""Local development host: runs function_app.py as `func start` would, plus the Azurite launcher.

Dev/test only; never imported by `shared/` and left out of deployment (.funcignore).
"""
