"""The landing page: where the console stands and what to do next."""
