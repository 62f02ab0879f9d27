"""The DCNN of Table 2 and its width-scaled variant."""
