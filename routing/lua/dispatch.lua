-- Offer waiting work of the given queues.  ARGV[4] = JSON list of queue names.
local offers = dispatch(cjson.decode(ARGV[4]))
return result({offers = offers})
