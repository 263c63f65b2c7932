"""A faithful local WeCom (企业微信) emulator: /cgi-bin API, encrypted callbacks, control endpoints."""
