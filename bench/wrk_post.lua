-- Cycle through pre-signed webhook bodies: line i of bodies.txt is "<signature>\t<body>".
local bodies = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    bodies[#bodies + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
end

function request()
  index = index % #bodies + 1
  local item = bodies[index]
  return wrk.format("POST", "/webhooks/whatsapp",
    { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = item[1] }, item[2])
end
