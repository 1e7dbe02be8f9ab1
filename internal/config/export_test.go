package config

// Read is read: the settings without validation.
var Read = read
