"""Alert rules: loading, validating and storing them."""
