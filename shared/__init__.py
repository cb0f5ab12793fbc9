"""The connector: settings, adapters (IFS, Dataverse, state), the sync service layer and platform helpers.

Azure Functions' name for code shared by the functions in function_app.py.
"""
