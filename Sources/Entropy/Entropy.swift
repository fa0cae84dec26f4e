// Entropy module
