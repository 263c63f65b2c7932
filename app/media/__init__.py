"""The media library (素材库): files kept in the database, WeCom media_id refreshed before use (3-day life)."""
