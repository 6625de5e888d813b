-- Matching: which waiting interaction goes to which agent, and the offer that reserves it.

local IX_FIELDS = {'state', 'channel', 'queue', 'priority', 'skills', 'language', 'enqueued_at_ms',
  'score', 'preferred_agent', 'sticky_until_ms', 'declined_by', 'customer_id'}

local function ix_fields(ix_id)
  local values = redis.call('HMGET', k_ix(ix_id), unpack(IX_FIELDS))
  local t = {}
  for i, name in ipairs(IX_FIELDS) do
    if values[i] then t[name] = values[i] end
  end
  return t
end

-- Bullseye: each step states the relaxation that applies from `after_s` of waiting on.
-- Returns the skills still required and when the next step starts (nil when none is left).
local function required_skills(ix, cfg)
  local required = cjson.decode(ix.skills or '{}')
  local steps = (cfg and cfg.bullseye) or {}
  local enqueued = tonumber(ix.enqueued_at_ms)
  local current = nil
  local next_at = nil
  for _, step in ipairs(steps) do
    local at = enqueued + tonumber(step.after_s) * 1000
    if at <= NOW then
      current = step
    elseif next_at == nil or at < next_at then
      next_at = at
    end
  end
  if current == nil then return required, next_at end

  local relax = tonumber(current.level_relax or 0)
  local drop = current.drop_skills
  local relaxed = {}
  for skill, level in pairs(required) do
    local dropped = drop == true
    if type(drop) == 'table' then
      for _, name in ipairs(drop) do
        if name == skill then dropped = true end
      end
    end
    if not dropped then relaxed[skill] = math.max(tonumber(level) - relax, 0) end
  end
  return relaxed, next_at
end

local function qualifies(a, ix, required)
  local language = ix.language
  if language and language ~= '' and not a.languages_t[language] then return false end
  for skill, level in pairs(required) do
    local have = a.skills_t[skill]
    if have == nil or tonumber(have) < level then return false end
  end
  return true
end

local function can_take(a, ix, required)
  return a.presence == 'available' and has_room(a, ix.channel) and qualifies(a, ix, required)
end

local function earliest(x, y)
  if x == nil then return y end
  if y == nil then return x end
  return math.min(x, y)
end

-- Pick the agent for one waiting interaction, or return nil and when to look again.
-- `ready_ids` lists the queue's ready agents, longest idle first.
local function pick_agent(ix, cfg, ready_ids)
  local required, next_step_at = required_skills(ix, cfg)

  -- Sticky routing: the customer's last agent first, and only them until the wait ends,
  -- unless they are away or offline, in which case waiting would be pointless.
  local preferred = agent(ix.preferred_agent)
  local sticky_until = tonumber(ix.sticky_until_ms or '0')
  if preferred and NOW < sticky_until then
    if can_take(preferred, ix, required) then return preferred, nil end
    if preferred.presence == 'available' or preferred.presence == 'wrap_up' then
      return nil, earliest(sticky_until, next_step_at)
    end
  end

  -- The agent who just declined it gets it again only when nobody else can take it.
  local declined_by = ix.declined_by
  local fallback = nil
  for _, id in ipairs(ready_ids) do
    local a = agent(id)
    if a and can_take(a, ix, required) then
      if id ~= declined_by then return a, nil end
      fallback = fallback or a
    end
  end
  return fallback, next_step_at
end

-- Reserve one interaction for one agent until the offer's deadline.
local function make_offer(ix_id, ix, queue, cfg, a, kind, note, from_agent)
  local seq = redis.call('INCR', K_SEQ)
  local offer_id = NONCE .. string.format('%x', seq)
  local deadline = NOW + queue_ms(cfg, 'offer_timeout_s', 30)

  take_from_queue(ix_id, queue)
  redis.call('HSET', k_ix(ix_id), 'state', 'offered', 'agent_id', a.id, 'offer_id', offer_id,
    'offered_at_ms', fmt(NOW), 'offer_deadline_ms', fmt(deadline))
  redis.call('HSET', k_offer(offer_id), 'interaction_id', ix_id, 'agent_id', a.id,
    'deadline_ms', fmt(deadline), 'created_at_ms', fmt(NOW), 'state', 'pending', 'kind', kind,
    'queue', queue, 'from_agent', from_agent or '', 'note', note or '')
  schedule('offer:' .. offer_id, deadline)

  take_capacity(a, ix.channel, ix_id)
  a.seq_n = seq
  redis.call('HSET', k_agent(a.id), 'last_assigned_ms', fmt(NOW), 'last_seq', fmt(seq))
  refresh_ready(a)
  stat(queue, 'offered')

  local event = {type = 'offer', offer_id = offer_id, conversation_id = ix_id, agent_id = a.id,
    deadline_ms = deadline, channel = ix.channel, queue = queue, kind = kind,
    priority = tonumber(ix.priority or '0'), enqueued_at_ms = tonumber(ix.enqueued_at_ms)}
  if note and note ~= '' then event.note = note end
  if from_agent and from_agent ~= '' then event.from_agent_id = from_agent end
  emit(a.id, event)
  return offer_id
end

-- Offer waiting interactions of `queues` to agents until no pair matches.
-- NOTE: only the first `scan_depth` waiting interactions of each queue are examined, so
-- that a deep queue costs no more than a short one. A chat further back that only a
-- free specialist could take waits until the ones in front of it move.
-- Each round takes the best-placed matchable interaction over all the queues; an
-- interaction nobody can take yet schedules a wake-up for its next bullseye step or
-- the end of its sticky wait, because nothing else would look at it again then.
local function dispatch(queues)
  local depth = setting('scan_depth', 50)
  local names = {}
  local seen = {}
  for _, q in ipairs(queues) do
    if q and q ~= '' and not seen[q] then
      seen[q] = true
      table.insert(names, q)
    end
  end

  -- Within one call agents only lose room. So an interaction that no agent could take is
  -- skipped for the rest of the call, and so is a queue whose whole scan found no match.
  local unmatched = {}
  local exhausted = {}
  local made = 0
  while true do
    local best = nil
    for _, q in ipairs(names) do
      local ready_ids = {}
      if not exhausted[q] then ready_ids = redis.call('ZRANGE', k_ready(q), 0, -1) end
      if #ready_ids > 0 then
        local cfg = queue_config(q)
        local waiting = redis.call('ZRANGE', k_queue(q), 0, depth - 1, 'WITHSCORES')
        local found = false
        local cut_short = false
        for i = 1, #waiting, 2 do
          local score = tonumber(waiting[i + 1])
          if best ~= nil and score >= best.score then
            cut_short = true
            break
          end

          local ix_id = waiting[i]
          if not unmatched[ix_id] then
            local ix = ix_fields(ix_id)
            local a, wake_at = pick_agent(ix, cfg, ready_ids)
            if a then
              best = {score = score, queue = q, ix_id = ix_id, ix = ix, agent = a, cfg = cfg}
              found = true
              break
            end
            unmatched[ix_id] = true
            if wake_at then schedule_wake(q, wake_at) end
          end
        end
        if not found and not cut_short then exhausted[q] = true end
      end
    end

    if best == nil then break end
    make_offer(best.ix_id, best.ix, best.queue, best.cfg, best.agent, 'queue', nil, nil)
    made = made + 1
  end
  return made
end
