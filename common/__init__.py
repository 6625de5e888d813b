"""Small pieces shared by the domain packages: the clock and Lua script loading."""
