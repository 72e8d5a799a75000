"""Load time: finding the mark, the checks, the rewrite, the import hook and its cache."""
