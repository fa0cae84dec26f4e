// Attention module
