"""Transfer: segment features of trained networks, the genre MLP, model bundles, prediction."""
