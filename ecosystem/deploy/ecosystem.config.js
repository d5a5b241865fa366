// PM2: `pm2 start ecosystem/deploy/ecosystem.config.js` from the project root.
module.exports = {
  apps: [
    {
      name: 'workspace-server',
      script: '.venv/bin/python',
      args: '-m app',
      interpreter: 'none', // the Python interpreter is the script; PM2 must not wrap it in node
      cwd: __dirname + '/../..',
      env: { HOST: '127.0.0.1', PORT: '8000', DATA_DIR: './data', LOG_LEVEL: 'INFO' },
      kill_timeout: 45000, // graceful shutdown: drain, confirm, close with 1001, stop the embedded database
      autorestart: true,
      max_restarts: 10,
      instances: 1, // one process per DATA_DIR: the embedded database holds its directory
    },
  ],
};
