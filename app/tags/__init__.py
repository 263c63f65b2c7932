"""Tags: corp tag groups and tags (models, sync), the one marking service, the catalogue managed in WeCom first,
the RFM groups no one sets by hand, and tags maintained by rules."""
