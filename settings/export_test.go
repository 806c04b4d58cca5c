package settings

// ChildEnv is the variable that marks a child process of Subprocess, for tests that must tell the two
// processes apart.
const ChildEnv = childEnv
