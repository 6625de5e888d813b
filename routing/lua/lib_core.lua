-- Shared helpers of the routing scripts; the loader puts this text in front of each script.
--
-- Calling convention of every routing script:
--   KEYS[1] = the settings key, so that the call goes to the slot of the `{rt}` hash tag
--   ARGV[1] = key base (`<prefix>rt:{rt}:`), ARGV[2] = now in UTC epoch ms,
--   ARGV[3] = a random nonce for new offer ids, ARGV[4..] = arguments of the script.
-- Every script returns one JSON document: {"ok": true, ...} or {"error": code, "detail": text}.
--
-- NOTE: the scripts build key names from ARGV[1] instead of receiving them in KEYS. That
-- is fine on one Redis or Valkey server, and every key carries the `{rt}` hash tag of
-- KEYS[1], but it has not been tried on Redis Cluster.
--
-- Numbers go to Redis through fmt(): Lua's own number-to-string conversion keeps only
-- 14 significant digits, which would corrupt queue scores.

local B = ARGV[1]
local NOW = tonumber(ARGV[2])
local NONCE = ARGV[3]
local PRIORITY_WEIGHT = 1000000000000
local DAY_MS = 86400000
local STATS_TTL_S = 8 * 86400
local OFFER_KEEP_S = 86400
-- A closed conversation is kept this long, so that a customer writing again reopens it.
-- The customer's last agent is remembered for sticky routing just as long.
local CLOSED_KEEP_S = 30 * 86400

local K_QUEUES = B .. 'queues'
local K_AGENTS = B .. 'agents'
local K_ACTIVE = B .. 'active'
local K_DEADLINES = B .. 'deadlines'
local K_EVENTS = B .. 'events'
local K_SETTINGS = B .. 'settings'
local K_SEQ = B .. 'seq'

local function k_ix(id) return B .. 'ix:' .. id end
local function k_queue(q) return B .. 'queue:' .. q end
local function k_since(q) return B .. 'since:' .. q end
local function k_ready(q) return B .. 'ready:' .. q end
local function k_agent(a) return B .. 'agent:' .. a end
local function k_agent_ixs(a) return B .. 'agent:' .. a .. ':ixs' end
local function k_offer(o) return B .. 'offer:' .. o end
local function k_customer(c) return B .. 'customer:' .. c end
local function k_stats(q) return B .. 'stats:' .. q .. ':' .. math.floor(NOW / DAY_MS) end

local function fmt(n) return string.format('%.0f', n) end

local function result(t)
  t.ok = true
  return cjson.encode(t)
end

local function failure(code, detail, extra)
  local t = extra or {}
  t.error = code
  t.detail = detail
  return cjson.encode(t)
end

local function hash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function setting(name, default)
  local v = redis.call('HGET', K_SETTINGS, name)
  if not v then return default end
  return tonumber(v)
end

-- Queue configurations, decoded once per script run.
local QUEUES = {}
local function queue_config(name)
  local c = QUEUES[name]
  if c == nil then
    local raw = redis.call('HGET', K_QUEUES, name)
    if raw then c = cjson.decode(raw) else c = false end
    QUEUES[name] = c
  end
  if c == false then return nil end
  return c
end

local function queue_ms(cfg, field, default_s)
  local v = cfg and cfg[field]
  if v == nil or v == cjson.null then v = default_s end
  return tonumber(v) * 1000
end

-- Agents, decoded once per script run and kept in step with every write below.
local AGENTS = {}
local function agent(id)
  if id == nil or id == '' then return nil end
  local a = AGENTS[id]
  if a == nil then
    local h = hash(k_agent(id))
    if h == nil or h.name == nil then
      AGENTS[id] = false
      return nil
    end
    h.id = id
    h.skills_t = cjson.decode(h.skills or '{}')
    h.languages_t = {}
    for _, lang in ipairs(cjson.decode(h.languages or '[]')) do h.languages_t[lang] = true end
    h.capacity_t = cjson.decode(h.capacity or '{}')
    h.costs_t = cjson.decode(h.costs or '{}')
    h.queues_t = cjson.decode(h.queues or '[]')
    h.units_n = tonumber(h.units or '')
    h.used_n = tonumber(h.used_units or '0')
    h.seq_n = tonumber(h.last_seq or '0')
    AGENTS[id] = h
    a = h
  end
  if a == false then return nil end
  return a
end

local function open_count(a, channel)
  return tonumber(a['n:' .. channel] or '0')
end

local function cost_of(a, channel)
  return tonumber(a.costs_t[channel] or 0)
end

-- Room on one channel: below that channel's count and within the cross-channel units.
local function has_room(a, channel)
  local cap = tonumber(a.capacity_t[channel] or 0)
  if open_count(a, channel) >= cap then return false end
  if a.units_n ~= nil and a.used_n + cost_of(a, channel) > a.units_n then return false end
  return true
end

local function has_any_room(a)
  for channel, _ in pairs(a.capacity_t) do
    if has_room(a, channel) then return true end
  end
  return false
end

-- Keep the agent in the ready set of each of its queues exactly while it can take work.
local function refresh_ready(a)
  local ready = a.presence == 'available' and has_any_room(a)
  for _, q in ipairs(a.queues_t) do
    if ready then
      redis.call('ZADD', k_ready(q), fmt(a.seq_n), a.id)
    else
      redis.call('ZREM', k_ready(q), a.id)
    end
  end
end

local function take_capacity(a, channel, ix_id)
  local cost = cost_of(a, channel)
  a['n:' .. channel] = tostring(redis.call('HINCRBY', k_agent(a.id), 'n:' .. channel, 1))
  a.used_n = redis.call('HINCRBY', k_agent(a.id), 'used_units', cost)
  redis.call('SADD', k_agent_ixs(a.id), ix_id)
  redis.call('HSET', k_ix(ix_id), 'holds_capacity', '1')
end

local function release_capacity(a, channel, ix_id)
  if redis.call('HGET', k_ix(ix_id), 'holds_capacity') == '1' then
    local cost = cost_of(a, channel)
    a['n:' .. channel] = tostring(redis.call('HINCRBY', k_agent(a.id), 'n:' .. channel, -1))
    a.used_n = redis.call('HINCRBY', k_agent(a.id), 'used_units', -cost)
    redis.call('HSET', k_ix(ix_id), 'holds_capacity', '0')
  end
end

local function forget_interaction(a, ix_id)
  redis.call('SREM', k_agent_ixs(a.id), ix_id)
end

local function stat(queue, field, by)
  local key = k_stats(queue)
  redis.call('HINCRBY', key, field, by or 1)
  redis.call('EXPIRE', key, STATS_TTL_S)
end

-- Append an event for the SSE streams. Supervisors see every event, an agent those
-- carrying their id; agent_id '' means supervisors only.
local function emit(agent_id, data)
  data.ts_ms = NOW
  local maxlen = setting('event_maxlen', 100000)
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', fmt(maxlen), '*',
    'agent', agent_id or '', 'data', cjson.encode(data))
end

local function score_of(priority, urgent, enqueued_at_ms)
  return -(priority * 2 + urgent) * PRIORITY_WEIGHT + enqueued_at_ms
end

local function put_in_queue(ix_id, queue, score, enqueued_at_ms)
  redis.call('ZADD', k_queue(queue), fmt(score), ix_id)
  redis.call('ZADD', k_since(queue), fmt(enqueued_at_ms), ix_id)
end

local function take_from_queue(ix_id, queue)
  redis.call('ZREM', k_queue(queue), ix_id)
  redis.call('ZREM', k_since(queue), ix_id)
end

local function schedule(member, at_ms)
  redis.call('ZADD', K_DEADLINES, fmt(at_ms), member)
end

-- Wake a queue at `at_ms` unless an earlier wake-up is already planned.
local function schedule_wake(queue, at_ms)
  local member = 'wake:' .. queue
  local current = redis.call('ZSCORE', K_DEADLINES, member)
  if current == false or tonumber(current) > at_ms then
    schedule(member, at_ms)
  end
end

local function unschedule(member)
  redis.call('ZREM', K_DEADLINES, member)
end

-- Plan the window steps of a waiting interaction: move ahead when the window closes
-- soon, count it abandoned when the window closes while it still waits.
local function plan_window(ix_id, cfg, window_expires_at_ms)
  unschedule('urgent:' .. ix_id)
  unschedule('expire:' .. ix_id)
  if window_expires_at_ms == nil then return 0 end
  local urgent_at = window_expires_at_ms - queue_ms(cfg, 'window_urgent_s', 3600)
  local urgent = 0
  if urgent_at <= NOW then urgent = 1 else schedule('urgent:' .. ix_id, urgent_at) end
  if cfg == nil or cfg.abandon_on_window_close ~= false then
    schedule('expire:' .. ix_id, window_expires_at_ms)
  end
  return urgent
end

-- Plan the next warning to the assigned agent before the customer's window closes.
local function plan_warning(ix_id, cfg, window_expires_at_ms)
  unschedule('warn:' .. ix_id)
  if window_expires_at_ms == nil then return end
  local warnings = (cfg and cfg.window_warnings_s) or {3600, 900}
  local next_at = nil
  for _, before_s in ipairs(warnings) do
    local at = window_expires_at_ms - tonumber(before_s) * 1000
    if at > NOW and (next_at == nil or at < next_at) then next_at = at end
  end
  if next_at ~= nil then schedule('warn:' .. ix_id, next_at) end
end

local function set_presence(a, presence)
  a.presence = presence
  redis.call('HSET', k_agent(a.id), 'presence', presence, 'presence_since_ms', fmt(NOW))
  if presence == 'available' then
    a.missed_in_row = '0'
    redis.call('HSET', k_agent(a.id), 'missed_in_row', '0')
  end
  refresh_ready(a)
  emit(a.id, {type = 'presence', agent_id = a.id, presence = presence})
end
