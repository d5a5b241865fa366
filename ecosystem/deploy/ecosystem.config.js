// PM2 process file for the workspace server.
//
//   pm2 start ecosystem/deploy/ecosystem.config.js     (from anywhere; paths resolve from this file)
//   pm2 stop workspace-server                          (graceful: SIGINT, up to kill_timeout, then SIGKILL)
//
// The server reads its settings from the environment and from a .env file in the project root (PROTOCOL.md
// section 1); the values below are defaults that the shell's environment at `pm2 start` overrides.
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

module.exports = {
  apps: [
    {
      name: 'workspace-server',
      cwd: root,
      // The venv's interpreter is the program: `python -m app`. interpreter 'none' keeps PM2 from wrapping it in node.
      script: path.join(root, '.venv', 'bin', 'python'),
      args: ['-m', 'app'],
      interpreter: 'none',
      exec_mode: 'fork',
      // One process per DATA_DIR: the embedded database holds its directory. Several processes need MONGODB_URI.
      instances: 1,
      env: {
        HOST: process.env.HOST || '127.0.0.1',
        PORT: process.env.PORT || '8000',
        DATA_DIR: process.env.DATA_DIR || path.join(root, 'data'),
        LOG_LEVEL: process.env.LOG_LEVEL || 'INFO',
        PYTHONUNBUFFERED: '1',
      },
      // PM2 stops with SIGINT (PM2_KILL_SIGNAL changes it); the server treats SIGINT like SIGTERM: it stops
      // accepting, confirms what it received, closes sockets with 1001 and stops the embedded database. That takes
      // seconds, at worst about 50 s (its drain, uvicorn's and the database's own time limits), so allow 60 s
      // before SIGKILL (PM2's default is 1.6 s).
      kill_timeout: 60000,
      // Signal only the Python process: it stops its embedded database itself, after the last write. PM2's default
      // tree kill would signal the database at the same moment, in the middle of the drain.
      treekill: false,
      autorestart: true,
      min_uptime: 10000,
      max_restarts: 10,
      restart_delay: 2000,
    },
  ],
};
