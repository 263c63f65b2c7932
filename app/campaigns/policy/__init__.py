"""Push policies (caps, quiet hours, sensitive words, approval threshold) and their pages."""
