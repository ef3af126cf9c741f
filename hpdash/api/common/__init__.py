"""What every API family shares: Google's error envelope, the typed API request (who asks, for
which project, the parsed JSON body) behind one ``endpoint`` decorator that authenticates and
maps exceptions, keyset pagination and the database side of list filters."""
